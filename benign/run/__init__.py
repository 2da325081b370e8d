"""Running simulations: batches (one compiled call per static group), sweeps, the results store, executors."""
