"""``rtnb lab``: JupyterLab on a working copy of the tutorials.

:mod:`~rtnb.lab.app` builds the command and runs it, :mod:`~rtnb.lab.working_copy` keeps the copy
in step with its source, :mod:`~rtnb.lab.notebook_clean` says what a clean notebook is,
:mod:`~rtnb.lab.settings` turns JupyterLab's news pop-up off and :mod:`~rtnb.lab.process` takes
JupyterLab and its kernels down when ``rtnb lab`` stops.
"""
