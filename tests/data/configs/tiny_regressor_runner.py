# A few-iteration CPU run of the tiny regressor that tests/engine uses to
# check training, checkpointing and resuming through MMEngine's Runner.
_base_ = ['../../../configs/_base_/default_runtime.py']

custom_imports = dict(imports=['tests.engine.tiny_components'], allow_failed_imports=False)

model = dict(type='TinyRegressor', in_features=4, hidden=8)

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='TinyRegressionDataset', length=24, in_features=4))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-2, betas=(0.5, 0.999)),
    clip_grad=dict(max_norm=10, norm_type=float('inf')))
param_scheduler = dict(type='MultiStepLR', milestones=[4], gamma=0.1, by_epoch=False)

default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=3, max_keep_ckpts=-1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
custom_hooks = [dict(type='RankWeightsDumpHook'), dict(type='IterDelayHook', seconds=0.0)]
