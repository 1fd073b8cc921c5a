/** Runs a numbered list of jobs through a fixed number of parallel lanes. */

/**
 * Calls `work(index, lane)` for index 0…count-1, at most `lanes` at a time, each lane taking the
 * next index when its job ends. After the first failure no new job starts; the first error is
 * thrown once every running job has settled. Results are in index order.
 */
export async function runLanes<T>(count: number, lanes: number, work: (index: number, lane: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (laneNo: number): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      try {
        results[index] = await work(index, laneNo);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, count)) }, (_, i) => lane(i)));
  if (failure) throw failure.error;
  return results;
}
