import keras
import numpy as np
import pytest

from whale_utils import augment, backbones, gridsearch, lessons, training


def random_backbone(img_size=32):
    """EfficientNet-Lite0 with random weights: a frozen backbone without the weights file."""
    return backbones.feature_extractor(backbones.choose_weights("efficientnet-lite0", "none"),
                                       img_size)


def tiny_fit(seed):
    training.set_seed(seed)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 5, 64)
    model = lessons.compile_like_the_student(lessons.dropout_cnn(32, 5, dropout=0.3))
    training.fit(model, (x, y), (x[:16], y[:16]), epochs=2, batch_size=16, verbose=0)
    return [w.numpy() for w in model.weights]


def test_same_seed_same_weights():
    first, second = tiny_fit(1), tiny_fit(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, tiny_fit(2)))


def test_student_settings():
    lr = lessons.student_reduce_lr("val_loss")
    assert (lr.monitor, lr.patience, lr.factor, lr.min_lr) == ("val_loss", 1, 0.8, 1e-5)
    adam = lessons.compile_like_the_student(lessons.student_cnn(32, 5)).optimizer
    assert float(adam.learning_rate) == pytest.approx(1e-3)
    assert (adam.beta_1, adam.beta_2) == (0.9, 0.999)


def test_grid_search_over_the_four_optimizers():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 10)
    features = (rng.normal(size=(40, 16)) + labels[:, None]).astype("float32")
    search = gridsearch.fit(lessons.student_grid_search(epochs=2, batch_size=8, cv=2),
                            features, labels)
    table = gridsearch.grid_table(search)
    assert sorted(table["optimizer"]) == ["adam", "adamax", "nadam", "sgd"]
    assert {"mean_train_score", "mean_test_score"} <= set(table.columns)
    assert search.best_estimator_.predict_proba(features).shape == (40, 4)


def test_head_on_cached_features_equals_frozen_full_model():
    """A head trained on cached features is the frozen full model's head: same decisions.

    The two runs reach the head along two float paths (features computed in one batch or
    inside each training step), so gradients differ in their last bits, and the CPU's
    summation order decides by how much. Adam's step is about ``learning_rate`` whatever
    the gradient's size, so where a gradient is itself float noise, one weight can move
    the other way in each step: two heads can differ by up to steps x learning rate per
    weight, not by float32's epsilon. The test holds them to that bound, and to the same
    predicted class for every photo.
    """
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, 48)
    backbone = random_backbone()
    features = backbones.backbone_features(backbone, images)
    epochs, batch_size = 2, 16

    training.set_seed(5)
    head = lessons.compile_like_the_student(lessons.transfer_head(4, 1280, seed=5))
    training.fit(head, (features, labels), None, epochs=epochs, batch_size=batch_size, verbose=0)

    training.set_seed(5)
    other_head = lessons.transfer_head(4, 1280, seed=5)
    full = lessons.compile_like_the_student(lessons.transfer_model(backbone, other_head))
    training.fit(full, (images, labels), None, epochs=epochs, batch_size=batch_size, verbose=0)

    steps = epochs * -(-len(images) // batch_size)
    student_adam = lessons.compile_like_the_student(lessons.student_cnn(32, 5)).optimizer
    bound = steps * float(student_adam.learning_rate)
    for a, b in zip(head.weights, other_head.weights):
        assert np.abs(a.numpy() - b.numpy()).max() <= bound, a.path
    untouched = lessons.compile_like_the_student(lessons.transfer_head(4, 1280, seed=6))
    assert any(np.abs(a.numpy() - b.numpy()).max() > bound   # the bound can fail
               for a, b in zip(head.weights, untouched.weights))
    np.testing.assert_array_equal(training.predict(head, features).argmax(1),
                                  training.predict(full, images).argmax(1))


def test_augmentation_keeps_uint8_and_changes_pixels():
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)

    def draw(seed):
        training.set_seed(seed)      # as the notebooks do: seeds and deterministic ops
        return np.asarray(augment.student_augmentation(seed=seed)(images, training=True))

    x = draw(0)
    assert x.dtype == np.uint8 and x.shape == images.shape
    assert not np.array_equal(x, images)
    assert np.array_equal(draw(0), x) and not np.array_equal(draw(1), x)


def test_augmentation_without_magnitude_is_identity_and_shift_moves_pixels():
    images = np.zeros((1, 40, 40, 3), dtype=np.uint8)
    images[0, 20, 20] = 255
    still = augment.StudentAugmentation(0, 0, 0, seed=1)(images, training=True)
    assert np.array_equal(np.asarray(still).round().astype(np.uint8), images)
    moved = np.asarray(augment.StudentAugmentation(0, 0, 0.25, seed=1)(images, training=True))
    assert moved[0, 20, 20, 0] < 128 and moved.max() > 100   # the dot went elsewhere
    assert np.array_equal(augment.student_augmentation()(images, training=False), images)


def test_affine_resample_matches_keras_affine_transform():
    from keras import ops

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (6, 30, 40, 3)).astype(np.float32)
    angle = rng.uniform(-0.3, 0.3, 6)
    transforms = np.stack([np.cos(angle) * 1.1, -np.sin(angle), rng.uniform(-6, 6, 6),
                           np.sin(angle), np.cos(angle) * 0.9, rng.uniform(-6, 6, 6)], 1)
    ours = augment.affine_resample(images, transforms.astype(np.float32)).numpy()
    eight = np.concatenate([transforms, np.zeros((6, 2))], 1).astype(np.float32)
    theirs = ops.image.affine_transform(images, eight, interpolation="bilinear",
                                        fill_mode="nearest").numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-2)
    rounded = augment.affine_resample(images.astype(np.uint8), transforms.astype(np.float32))
    assert rounded.dtype == np.uint8
    assert np.abs(rounded.numpy() - np.round(theirs)).max() <= 1


def test_feature_validation_gives_the_full_models_validation_metrics():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, 40)
    backbone = random_backbone()
    features = backbones.backbone_features(backbone, images[24:])

    def run(validation, callbacks):
        training.set_seed(7)
        head = lessons.transfer_head(4, 1280, seed=7)
        full = lessons.compile_like_the_student(lessons.transfer_model(backbone, head))
        callbacks = callbacks(head)
        history = training.fit(full, (images[:24], labels[:24]), validation, epochs=2,
                               batch_size=8, callbacks=callbacks, verbose=0)
        return history.history

    direct = run((images[24:], labels[24:]), lambda head: [])
    seen = []   # what a later callback (ReduceLROnPlateau, EarlyStopping) reads
    later = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(logs.get("val_loss")))
    cached = run(None, lambda head: [training.FeatureValidation(head, features, labels[24:]),
                                     later])
    # Validation takes two float paths: features computed once in one batch, or by the
    # full model in evaluate's batches. The backbone's outputs then agree to float32
    # rounding (about 1e-6 relative, whatever the CPU's summation order), and the head's
    # loss and metrics inherit that: rtol 1e-4 is a hundred times it. Training is the
    # same computation both ways (the full model on the photos): equal to float32 rounding.
    for name in ("val_loss", "val_accuracy", "val_top5"):
        np.testing.assert_allclose(cached[name], direct[name], rtol=1e-4, atol=1e-6)
    assert cached["loss"] == pytest.approx(direct["loss"], rel=1e-5)
    assert seen == cached["val_loss"]


def test_augmentation_inside_the_model_acts_in_training_only():
    """Notebooks 03 and 05: the augmentation is the model's first layer, so it runs in
    the training step and leaves prediction alone."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    plain = lessons.dropout_cnn(32, 5, seed=0)
    augmenting = keras.Sequential([keras.Input((32, 32, 3), dtype="uint8"),
                                   augment.student_augmentation(seed=0),
                                   lessons.dropout_cnn(32, 5, seed=0)])     # as in 03
    augmenting.set_weights(plain.get_weights())
    assert augmenting.layers[0].name == "student_augmentation"
    np.testing.assert_allclose(augmenting.predict(images, verbose=0),
                               plain.predict(images, verbose=0), rtol=1e-6)
    trained = np.asarray(augmenting(images, training=True))
    assert not np.allclose(trained, np.asarray(plain(images, training=True)), atol=1e-6)


def test_backbone_features_are_cached_by_images_and_weights(tmp_path):
    """04, 06 and 07 compute the same features: the second call reads them back, and a
    different image or other weights compute anew."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    training.set_seed(0)
    backbone = random_backbone()
    first = backbones.backbone_features(backbone, images, cache_dir=tmp_path)
    cached = sorted(tmp_path.glob("features-6-*.npy"))
    assert len(cached) == 1 and not list(tmp_path.glob("*.partial"))
    np.testing.assert_array_equal(first, backbone.predict(images, verbose=0))
    np.save(cached[0], first + 1)              # proves the next call reads the cache
    np.testing.assert_array_equal(backbones.backbone_features(backbone, images, cache_dir=tmp_path),
                                  first + 1)
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    backbones.backbone_features(backbone, changed, cache_dir=tmp_path)
    training.set_seed(1)
    backbones.backbone_features(random_backbone(), images, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("features-6-*.npy"))) == 3
