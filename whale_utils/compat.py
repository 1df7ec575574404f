"""scikeras' KerasClassifier, still a classifier for today's scikit-learn.

scikeras 0.13 is its last release. It declares itself a classifier the old way
(``_estimator_type``); scikit-learn 1.6 asks estimators for ``__sklearn_tags__``
instead, where scikeras' base class comes before ``ClassifierMixin``, so the wrapper
reports no estimator type: ``is_classifier()`` is False and ``GridSearchCV(cv=2)``
silently splits with ``KFold`` instead of ``StratifiedKFold``. ``KerasClassifier``
below restores the classifier tags; on scikit-learn < 1.6 it changes nothing.
"""

from __future__ import annotations

from scikeras.wrappers import KerasClassifier as _ScikerasClassifier


class KerasClassifier(_ScikerasClassifier):
    """scikeras' ``KerasClassifier`` with its classifier tags for scikit-learn >= 1.6."""

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        try:
            tags = super().__sklearn_tags__()
        except AttributeError:   # scikit-learn 1.6.0: no base tags to start from
            tags = Tags(estimator_type=None, target_tags=TargetTags(required=True))
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags
