"""How ``ember.distributed.run`` runs the user's script in each rank:
``python -m ember.distributed._script script.py args`` (or ``-m module args``).

A non-zero ``sys.exit`` while MPI is running ends the rank at once, skipping MPI_Finalize, which
would wait for the other ranks (perhaps waiting in a collective for this one): mpiexec then stops
the job, as torchrun does when a rank fails. An uncaught exception goes to ``sys.excepthook``
(``_failure``'s once a process group exists) with the runner's own frames left out.
"""
from __future__ import annotations

import os
import runpy
import sys


def _mpi_running() -> bool:
    MPI = sys.modules.get("mpi4py.MPI")
    return MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized()


def main() -> None:
    if sys.argv[1] == "-m":
        name, args = sys.argv[2], sys.argv[3:]
        sys.argv = [name] + args
        run = lambda: runpy.run_module(name, run_name="__main__", alter_sys=True)  # noqa: E731
    else:
        path, args = sys.argv[1], sys.argv[2:]
        sys.argv = [path] + args
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # as `python script.py` does
        run = lambda: runpy.run_path(path, run_name="__main__")  # noqa: E731
    try:
        run()
    except SystemExit as e:
        if e.code in (None, 0) or not _mpi_running():
            raise
        code = e.code if isinstance(e.code, int) else 1
        if not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    except BaseException as e:  # shown as `python script.py` shows it: from the script's first frame
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, runpy.__file__, "<frozen runpy>"):
            tb = tb.tb_next
        sys.excepthook(type(e), e, tb or e.__traceback__)
        sys.exit(1)


if __name__ == "__main__":
    main()
