"""Importing this module imports mmwrn and turns every host mend on
(:func:`mmwrn.host_mends.enable`): safe checkpoint loading, atomic saves,
mmengine's checkpoint types in torch's weights-only allow-list, mmwrn's names in
``MMSegInferencer``. mmwrn's shipped configs list it in their
``custom_imports``, so that whatever loads them (mmwrn's tools, ``mim``,
``mmseg.apis.init_model``, ``mmpretrain.get_model``, a ``Runner``) keeps
mmwrn's guarantees; list it in your own config to get the same::

    custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'],
                          allow_failed_imports=False)
"""

from mmwrn import host_mends

host_mends.enable()
