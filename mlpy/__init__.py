"""mlpy: run scikit-learn models in production."""

__version__ = "0.1.0"
