"""evaluation of cpabmm."""
