"""apis of cpabmm."""
