// The workbench's keyboard commands: the media view and the form register what they can do;
// the one key handler (Workbench) runs the action the keymap binds a key to.
import { useEffect, useRef } from "react";
import type { Action } from "./keymap";

export type Commands = Partial<Record<Action, () => void>>;
export type Registry = { current: Map<object, Commands> };

export function useRegistry(): Registry {
  return useRef(new Map<object, Commands>());
}

/** Register ``commands`` while the component is mounted (the latest ones on each render). */
export function useCommands(registry: Registry, commands: Commands): void {
  const owner = useRef({});
  registry.current.set(owner.current, commands);
  useEffect(() => {
    const key = owner.current;
    return () => {
      registry.current.delete(key);
    };
  }, [registry]);
}

export function run(registry: Registry, action: Action): boolean {
  for (const commands of registry.current.values()) {
    const command = commands[action];
    if (command) {
      command();
      return true;
    }
  }
  return false;
}
