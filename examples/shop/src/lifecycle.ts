/**
 * Runs `stop` once on SIGTERM or SIGINT. The services never call process.exit: once their
 * connections are closed the event loop empties, @mqtrail/register flushes the last spans and
 * the process ends by itself.
 */
export function onStop(stop: () => Promise<void>): void {
  let stopping = false;
  const handle = () => {
    if (stopping) return;
    stopping = true;
    stop().catch((error: unknown) => {
      console.error('shop: error while stopping', error);
      process.exitCode = 1;
    });
  };
  process.once('SIGTERM', handle);
  process.once('SIGINT', handle);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
