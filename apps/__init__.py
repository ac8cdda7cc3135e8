"""randla.apps: applications built on the randla core.

* :mod:`randla.apps.xconv` -- probed convolution weight gradients (XConv).
* :mod:`randla.apps.wave` -- acoustic wave-equation engine.
* :mod:`randla.apps.fwi` -- probed imaging conditions, RTM and FWI.
* :mod:`randla.apps.dias` -- data-informed active subspace (DIAS) regularisation.
* :mod:`randla.apps.compress` -- compressed wavefield histories (autoencoder, low rank, zfp, SZ3).

Applications import the core; the core never imports an application.
"""
