"""Settings of `bench/topology.py`: the product's own settings (all from the environment the
harness sets), with two changes: the URLs add a bare view (`topology_urls`) for the side-by-side
ratio, and `collectstatic` (which the harness runs, as a deployment does) writes into the run's
temporary directory instead of the project's `staticfiles/`. The product's URL configuration
itself is not touched."""

import os

from csat_project.settings import *  # noqa: F403

ROOT_URLCONF = "topology_urls"
STATIC_ROOT = os.environ["CSAT_TOPOLOGY_STATIC_ROOT"]
