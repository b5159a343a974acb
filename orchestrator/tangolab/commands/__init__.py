# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Sub-commands beyond the core ones in tangolab.cli.

Each module provides ``register(subparsers)`` adding its parser(s) with
``set_defaults(func=handler)``; the handler takes the argparse namespace
and returns the exit status. List new modules in cli.COMMAND_MODULES.
"""
