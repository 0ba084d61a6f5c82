"""Settings of `bench/topology.py`: the product's own settings (all from the environment the
harness sets), with one change: the URLs add a bare view (`topology_urls`) for the side-by-side
ratio. The product's URL configuration itself is not touched."""

from csat_project.settings import *  # noqa: F403

ROOT_URLCONF = "topology_urls"
