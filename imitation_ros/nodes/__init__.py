"""Executables: one module per node, thin wiring from the graph layer to a ROS-free core."""
