// The layer's types (GRUConfig, GRUWeights, GRULayer, Activation, ...) live in GRUBase, below the kernels;
// a user of GRUCore sees them as GRUCore's own.
@_exported import GRUBase
