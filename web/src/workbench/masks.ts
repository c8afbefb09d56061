// COCO run-length masks (the `mask` geometry): runs of 0s and 1s in turn, starting with 0s,
// over the pixels in column-major order; `counts` a list, or COCO's compressed string. The
// workbench paints masks into a bitmap and sends them as lists.

/** The bitmap (row-major, 1 = in the mask) of a mask ``height`` × ``width``. */
export function decode(counts: number[] | string, height: number, width: number): Uint8Array {
  const runs = typeof counts === "string" ? decompress(counts) : counts;
  const bits = new Uint8Array(height * width);
  let at = 0;
  runs.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let k = at; k < at + run && k < bits.length; k++) {
        const x = Math.floor(k / height);
        const y = k % height;
        bits[y * width + x] = 1;
      }
    }
    at += run;
  });
  return bits;
}

/** The uncompressed counts of a bitmap (row-major) ``height`` × ``width``. */
export function encode(bits: Uint8Array, height: number, width: number): number[] {
  const runs: number[] = [];
  let value = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const bit = bits[y * width + x];
      if (bit === value) run++;
      else {
        runs.push(run);
        value = bit;
        run = 1;
      }
    }
  }
  runs.push(run);
  return runs;
}

/** COCO's compressed string (`rleFrString`) as run lengths. */
export function decompress(text: string): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < text.length) {
    let value = 0;
    let shift = 0;
    for (;;) {
      const c = text.charCodeAt(at++) - 48;
      value |= (c & 0x1f) << shift;
      shift += 5;
      if (!(c & 0x20)) {
        if (c & 0x10) value |= -1 << shift;
        break;
      }
    }
    if (out.length > 2) value += out[out.length - 2];
    out.push(value);
  }
  return out;
}

export function area(bits: Uint8Array): number {
  let n = 0;
  for (const b of bits) n += b;
  return n;
}

/** Paint (or erase) a disc of ``radius`` pixels at (cx, cy). */
export function paint(bits: Uint8Array, height: number, width: number, cx: number, cy: number, radius: number, on: boolean): void {
  const r2 = radius * radius;
  for (let y = Math.max(0, Math.floor(cy - radius)); y <= Math.min(height - 1, Math.ceil(cy + radius)); y++) {
    for (let x = Math.max(0, Math.floor(cx - radius)); x <= Math.min(width - 1, Math.ceil(cx + radius)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r2) bits[y * width + x] = on ? 1 : 0;
    }
  }
}

/** A canvas showing the mask's pixels in ``rgba`` (for drawing over the image). */
export function overlay(bits: Uint8Array, height: number, width: number, rgba: [number, number, number, number]): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(width, height);
  for (let i = 0; i < bits.length; i++) {
    if (!bits[i]) continue;
    image.data.set(rgba, i * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}
