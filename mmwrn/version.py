__version__ = '0.1.0'

# torch releases mmwrn is tested with, oldest and newest (tools/install.sh, docs/en/get_started.md)
SUPPORTED_TORCH = ('2.1', '2.15')
