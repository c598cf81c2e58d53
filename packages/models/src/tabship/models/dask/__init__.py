"""The Dask engine: the cluster, and the same training on its partitions."""
