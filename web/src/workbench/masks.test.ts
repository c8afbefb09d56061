import { describe, expect, it } from "vitest";
import { area, decode, decompress, encode, paint } from "./masks";

describe("COCO run-length masks", () => {
  it("encodes column by column, starting with a run of zeros", () => {
    // 2 × 3, row-major: [0 1 1 / 0 0 1] -> column-major 0 0 | 1 0 | 1 1
    const bits = Uint8Array.from([0, 1, 1, 0, 0, 1]);
    expect(encode(bits, 2, 3)).toEqual([2, 1, 1, 2]);
  });

  it("decodes what it encodes, for any painted shape", () => {
    const bits = new Uint8Array(40 * 60);
    paint(bits, 40, 60, 20, 15, 7, true);
    paint(bits, 40, 60, 45, 30, 4, true);
    paint(bits, 40, 60, 22, 15, 2, false);
    const counts = encode(bits, 40, 60);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(40 * 60);
    expect(decode(counts, 40, 60)).toEqual(bits);
    expect(area(bits)).toBeGreaterThan(150);
  });

  it("reads COCO's compressed strings as pycocotools writes them", () => {
    // pycocotools: encode of a 4 × 4 mask with its middle 2 × 2 set is "52203"
    expect(decompress("52203")).toEqual([5, 2, 2, 2, 5]);
    const bits = decode("52203", 4, 4);
    expect(area(bits)).toBe(4);
    expect(bits[1 * 4 + 1]).toBe(1);
  });
});
