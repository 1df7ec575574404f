from whale_utils import lessons


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_student_cnn_architecture():
    model = lessons.student_cnn(64, 10)
    assert model.inputs[0].dtype == "uint8"
    assert layer_types(model) == [
        "Rescaling", "Conv2D", "Conv2D", "MaxPooling2D", "BatchNormalization",
        "Conv2D", "Conv2D", "MaxPooling2D", "Dropout",
        "Conv2D", "Conv2D", "MaxPooling2D", "BatchNormalization",
        "Flatten", "Dense", "BatchNormalization", "Dense"]
    assert [layer.filters for layer in model.layers if hasattr(layer, "filters")] == [16, 16, 32, 32, 64, 64]
    assert model.layers[-1].units == 10 and model.layers[-3].units == 256
    assert model.layers[8].rate == 0.25


def test_dropout_cnn_wraps_the_dense_block():
    types = layer_types(lessons.dropout_cnn(64, 10, dropout=0.3))
    assert types[13:] == ["Flatten", "Dropout", "Dense", "BatchNormalization", "Dropout", "Dense"]
