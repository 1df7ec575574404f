"""scikeras' classifier stays a classifier for scikit-learn, whatever its version."""

import numpy as np
import pytest
import sklearn
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv

from whale_utils.compat import KerasClassifier

NEW_TAGS = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 6)


def test_the_wrapper_is_a_classifier_so_integer_cv_stratifies():
    wrapper = KerasClassifier(model=None)
    assert is_classifier(wrapper)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert isinstance(check_cv(2, y, classifier=is_classifier(wrapper)), StratifiedKFold)
    search = GridSearchCV(wrapper, {"optimizer": ["adam"]}, cv=2)
    assert is_classifier(search)


@pytest.mark.skipif(not NEW_TAGS, reason="scikit-learn < 1.6 reads _estimator_type")
def test_tags_on_new_scikit_learn():
    from scikeras.wrappers import KerasClassifier as Plain
    from sklearn.utils import get_tags

    tags = get_tags(KerasClassifier(model=None))
    assert tags.estimator_type == "classifier" and tags.classifier_tags is not None
    assert tags.target_tags.required
    try:   # what the compat class repairs: scikeras alone is no classifier here
        plain = is_classifier(Plain(model=None))
    except AttributeError:
        plain = False
    assert not plain
