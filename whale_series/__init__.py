"""The machinery behind the series, which only `make` and the tests drive: what the
learner's notebooks never import (they import ``whale_utils``)."""
