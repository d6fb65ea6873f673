pytest_plugins = ["kube_control_plane.pytest_plugin", "ovh_api_simulator.pytest_plugin"]
