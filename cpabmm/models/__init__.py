"""models of cpabmm."""
