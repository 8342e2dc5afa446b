"""The ``mlpy`` command."""
