"""datasets of cpabmm."""
