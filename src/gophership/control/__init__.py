"""The control plane: a unix socket (mode 0600, ``SO_PEERCRED`` checked) speaking JSON lines."""
