"""What drives the notebooks from outside, for `make` and the tests only: the runner, its
kernels and console, the Dask runner, the report, the book, the browser checks, the Colab
links, the export of cells, the solutions and `make data-kaggle`'s command line. It imports
``whale_utils``; nothing a notebook runs imports it."""
