import { describe, expect, it } from "vitest";
import { collisions, DEFAULT_KEYMAP, DESCRIPTIONS, keyOf, refusal } from "./keymap";

describe("the workbench keymap", () => {
  it("binds no key to two actions", () => {
    expect([...collisions(DEFAULT_KEYMAP)]).toEqual([]);
  });

  it("describes every action it binds", () => {
    expect(Object.keys(DESCRIPTIONS).sort()).toEqual(Object.keys(DEFAULT_KEYMAP).sort());
  });

  it("refuses a remapping onto a key another action has, naming it", () => {
    expect(refusal(DEFAULT_KEYMAP, "drawBox", "a")).toBe('a is already "Verdict: accept"');
    expect(refusal(DEFAULT_KEYMAP, "drawBox", "A")).toBe('A is already "Verdict: accept"');
    expect(refusal(DEFAULT_KEYMAP, "drawBox", "x")).toBeNull();
  });

  it("refuses the keys that move around the page", () => {
    expect(refusal(DEFAULT_KEYMAP, "drawBox", "Enter")).toContain("moving around the page");
  });

  it("names keys with their modifiers as the keymap writes them", () => {
    const key = (k: string, mods: Partial<KeyboardEvent> = {}) =>
      keyOf({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });
    expect(key("Enter", { ctrlKey: true })).toBe("Ctrl+Enter");
    expect(key("R", { shiftKey: true })).toBe("Shift+R");
    expect(key("?", { shiftKey: true })).toBe("?");
    expect(key("b")).toBe("b");
    expect(key("ArrowLeft")).toBe("ArrowLeft");
  });
});
