// A base class that holds the named properties of a dependencies object as readonly fields, so a
// class reads `this.redis` (not `this.deps.redis`) and says in its heading which ones it uses.

/** The named properties of the dependencies object, as readonly fields: `pickFields<Deps>()('redis', 'clock')`. */
export function pickFields<D extends object>() {
  return <K extends keyof D>(...names: K[]): new (deps: D) => Readonly<Pick<D, K>> =>
    class {
      constructor(deps: D) {
        for (const name of names) Object.assign(this, { [name]: deps[name] });
      }
    } as new (deps: D) => Readonly<Pick<D, K>>;
}
