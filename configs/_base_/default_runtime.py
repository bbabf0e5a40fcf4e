default_scope = 'cpabmm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # MMEngine's CheckpointHook, written so that a kill at any moment loses
    # no checkpoint (docs/reliability.md).
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Keeps every checkpoint loadable with torch.load(weights_only=True).
    safe_checkpoint=dict(type='SafeCheckpointHook'),
    # Checkpoints hold the random generators: a resumed run equals an
    # uninterrupted one.
    random_state=dict(type='RandomStateHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False

# Pictures (AnimationVisualizationHook) go to <work_dir>/<timestamp>/vis_data/.
visualizer = dict(type='AnimationVisualizer', vis_backends=[dict(type='LocalVisBackend')])
