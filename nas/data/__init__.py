"""CamVid data: readers for two on-disk layouts, tasks, geometry (crops, fold), integer cache."""
