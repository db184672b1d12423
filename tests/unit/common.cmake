# Unit tests of src/common (owned by the common module).
