"""Hardware-aware architecture search: ``python run_search.py --trials 200``.

Parses the options into a :class:`nas.search.SearchConfig` and calls :func:`nas.search.run`,
which runs (or resumes) the Optuna study in ``studies/<study-name>.db`` and writes
``studies/<study-name>/{trials.csv,pareto.csv,report.html}``. ``--help`` lists the options.
"""

import sys

from nas.search.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="run_search.py"))
