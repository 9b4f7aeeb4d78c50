"""Path simulators and their score weights, one module per model."""
