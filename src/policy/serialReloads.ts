// Reloads that never overlap: a change that arrives during a reload schedules exactly one more, so the
// last edit is always loaded and a burst of edits costs at most two loads.
export function serialReloads(reloadOnce: () => Promise<boolean>): () => Promise<boolean> {
  let running: Promise<boolean> | undefined;
  let again = false;
  return () => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      let ok = await reloadOnce();
      while (again) {
        again = false;
        ok = await reloadOnce();
      }
      running = undefined;
      return ok;
    })();
    return running;
  };
}
