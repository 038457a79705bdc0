"""lrscope's benchmarks: ratios measured side by side, never timed assertions in tests."""
