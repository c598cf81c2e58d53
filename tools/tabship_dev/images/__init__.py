"""Container images: the wheelhouse, a local base, builds with docker or buildah, and checks."""
