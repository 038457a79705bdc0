"""Live plots: loss, accuracy, LR and momentum, range test, run comparison."""
