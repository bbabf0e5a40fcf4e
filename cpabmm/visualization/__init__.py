"""visualization of cpabmm."""
