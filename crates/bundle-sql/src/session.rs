//! A DataFusion session whose memory is bounded.

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::SqlError;

/// How many memory consumers an out-of-memory error lists, largest first.
const CONSUMERS_REPORTED: usize = 5;

/// How to set up a session: its memory pool and parallelism.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    memory_limit: Option<usize>,
    target_partitions: Option<usize>,
    batch_rows: Option<usize>,
}

impl SessionOptions {
    /// Bounds the memory of operators that buffer rows (sorts, joins, aggregations) to `bytes`:
    /// past it they spill to disk, or the query fails with an error that lists the largest
    /// consumers. `None` (the default) leaves the memory unbounded.
    pub fn memory_limit(mut self, bytes: Option<usize>) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Partitions scanned and scored in parallel (DataFusion's default: the number of cores).
    pub fn target_partitions(mut self, partitions: Option<usize>) -> Self {
        self.target_partitions = partitions;
        self
    }

    /// Rows per record batch (DataFusion's default: 8,192).
    pub fn batch_rows(mut self, rows: Option<usize>) -> Self {
        self.batch_rows = rows;
        self
    }

    /// The session configuration these options give.
    pub fn config(&self) -> SessionConfig {
        let mut config = SessionConfig::new();
        if let Some(partitions) = self.target_partitions {
            config = config.with_target_partitions(partitions);
        }
        if let Some(rows) = self.batch_rows {
            config = config.with_batch_size(rows);
        }
        config
    }

    /// A session with these options: a fair spill pool of the memory limit, if any (each
    /// spilling operator gets an equal share, so one sort cannot starve another).
    pub fn context(&self) -> Result<SessionContext, SqlError> {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = self.memory_limit {
            let top = NonZeroUsize::new(CONSUMERS_REPORTED).expect("a positive constant");
            let pool: Arc<dyn MemoryPool> =
                Arc::new(TrackConsumersPool::new(FairSpillPool::new(bytes), top));
            runtime = runtime.with_memory_pool(pool);
        }
        Ok(SessionContext::new_with_config_rt(
            self.config(),
            runtime.build_arc()?,
        ))
    }
}
