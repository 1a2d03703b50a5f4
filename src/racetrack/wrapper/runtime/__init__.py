"""The call runtime: admission and dispatch of calls, threads, worker processes, graceful shutdown."""
