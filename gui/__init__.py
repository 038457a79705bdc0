"""lrscope's desktop app: thin Qt views over the engine, which runs on worker threads."""
