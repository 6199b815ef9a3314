-- An extension from its installed Python package (a file path of our own): never downloaded.
load {path}
