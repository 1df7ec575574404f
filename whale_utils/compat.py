"""scikeras' KerasClassifier, still a classifier for today's scikit-learn: scikeras 0.13
(its last release) reports no estimator type through scikit-learn 1.6's tags, so
``GridSearchCV(cv=2)`` would silently split with ``KFold``, not ``StratifiedKFold``."""

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
