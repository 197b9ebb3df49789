//! The weekly top-200 charts of `charts/charts.zip`, and the chart statistics of each track.
//!
//! The archive holds one tab-separated file per market and week,
//! `charts/<market>/<year>/<market>-weekly_with_features-<from>--<to>.csv`. Errors name the
//! entry as `…/charts.zip!<entry>` with the line inside the entry. A new entry's
//! `last_week_position` is written `nan`, read here as "none".
//!
//! The charts list every track that charted, so they also list the 131 evaluation tracks of the
//! valence task (chart statistics only, never valence): exclude [`crate::load::valence::eval_ids`]
//! before using chart statistics as training data.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use crate::data_dir::DataDir;
use crate::error::DatasetError;
use crate::prepare::Identified;
use crate::read::{open, read_table, Loaded, SkippedRow, Strictness, TableSpec};
use crate::validate::{CHART_POSITION, STREAMS, WEEKS_ON_CHART};

/// The archive, relative to the data directory.
pub const FILE: &str = "charts/charts.zip";

/// The markets of the archive; `global` is the worldwide chart.
pub const MARKETS: [&str; 9] = ["au", "br", "ca", "de", "fr", "gb", "global", "jp", "us"];

/// The columns every weekly file must have.
const COLUMNS: [&str; 8] = [
    "position",
    "song_id",
    "song_name",
    "artist",
    "streams",
    "last_week_position",
    "weeks_on_chart",
    "peak_position",
];

/// Which weekly files to read: by market and by year (the year folder of the archive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartFilter {
    markets: Option<BTreeSet<String>>,
    years: Option<RangeInclusive<u16>>,
}

impl ChartFilter {
    /// Every weekly file.
    pub fn all() -> ChartFilter {
        ChartFilter::default()
    }

    /// Only these markets, e.g. `["us", "gb"]`.
    pub fn markets<S: AsRef<str>>(mut self, markets: &[S]) -> ChartFilter {
        self.markets = Some(markets.iter().map(|m| m.as_ref().to_string()).collect());
        self
    }

    /// Only these years, e.g. `2018..=2019`.
    pub fn years(mut self, years: RangeInclusive<u16>) -> ChartFilter {
        self.years = Some(years);
        self
    }

    /// Whether a weekly file passes the filter.
    pub fn accepts(&self, week: &WeeklyChart) -> bool {
        self.markets
            .as_ref()
            .is_none_or(|markets| markets.contains(&week.market))
            && self
                .years
                .as_ref()
                .is_none_or(|years| years.contains(&week.year))
    }
}

/// One weekly file of the archive, as its entry name describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WeeklyChart {
    /// The entry name inside the archive.
    pub entry: String,
    /// The market, e.g. `us` or `global`.
    pub market: String,
    /// The year folder.
    pub year: u16,
    /// First day of the week, `YYYY-MM-DD`.
    pub from: String,
    /// Last day of the week, `YYYY-MM-DD`.
    pub to: String,
}

impl WeeklyChart {
    /// Parses an entry name of the layout
    /// `charts/<market>/<year>/<market>-weekly_with_features-<from>--<to>.csv`.
    pub fn parse(entry: &str) -> Option<WeeklyChart> {
        let mut parts = entry.strip_prefix("charts/")?.split('/');
        let (market, year, file) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || market.is_empty() {
            return None;
        }
        let dates = file
            .strip_prefix(market)?
            .strip_prefix("-weekly_with_features-")?
            .strip_suffix(".csv")?;
        let (from, to) = dates.split_once("--")?;
        let is_date = |text: &str| {
            text.len() == 10
                && text.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    _ => b.is_ascii_digit(),
                })
        };
        if year.len() != 4 || !is_date(from) || !is_date(to) || from > to {
            return None;
        }
        Some(WeeklyChart {
            entry: entry.to_string(),
            market: market.to_string(),
            year: year.parse().ok()?,
            from: from.to_string(),
            to: to.to_string(),
        })
    }
}

/// One row of a weekly file.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartEntry {
    /// Spotify track id.
    pub id: String,
    /// Track title (empty in a few rows of the source).
    pub name: String,
    /// Artist name (empty in a few rows of the source).
    pub artist: String,
    /// Position this week, 1..=200.
    pub position: u32,
    /// Streams this week.
    pub streams: u64,
    /// Position last week; `None` for a new or re-entering track.
    pub last_week_position: Option<u32>,
    /// Weeks on the chart so far, this week included.
    pub weeks_on_chart: u32,
    /// Best position so far.
    pub peak_position: u32,
}

impl Identified for ChartEntry {
    fn track_id(&self) -> &str {
        &self.id
    }
}

/// The rows of one weekly file.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartWeek {
    /// Which file.
    pub chart: WeeklyChart,
    /// Its rows, in chart order.
    pub entries: Vec<ChartEntry>,
}

/// The chart statistics of one track over the weekly files read.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartTrack {
    /// Spotify track id.
    pub id: String,
    /// Track title, the first non-empty one seen.
    pub name: String,
    /// Artist name, the first non-empty one seen.
    pub artist: String,
    /// Number of weekly files (market-weeks) the track appears in.
    pub chart_weeks: usize,
    /// Largest `weeks_on_chart` seen in any market.
    pub max_weeks_on_chart: u32,
    /// Best position reached in any market.
    pub best_position: u32,
    /// Streams summed over every market-week read.
    pub total_streams: u64,
    /// Markets the track charted in.
    pub markets: BTreeSet<String>,
    /// First day of the earliest week it charted, `YYYY-MM-DD`.
    pub first_week: String,
    /// Last day of the latest week it charted, `YYYY-MM-DD`.
    pub last_week: String,
}

impl Identified for ChartTrack {
    fn track_id(&self) -> &str {
        &self.id
    }
}

fn zip_error(path: &Path, source: zip::result::ZipError) -> DatasetError {
    DatasetError::Zip {
        path: path.to_path_buf(),
        source,
    }
}

fn archive(path: &Path) -> Result<zip::ZipArchive<File>, DatasetError> {
    zip::ZipArchive::new(open(path)?).map_err(|error| zip_error(path, error))
}

/// Lists the weekly files of the archive, in archive order. An entry ending in `.csv` that does
/// not follow the layout is an error.
pub fn weekly_charts(dir: &DataDir) -> Result<Vec<WeeklyChart>, DatasetError> {
    let path = dir.join(FILE);
    let archive = archive(&path)?;
    let mut weeks = Vec::new();
    for name in archive.file_names() {
        if let Some(week) = week_of(&path, name)? {
            weeks.push(week);
        }
    }
    // `file_names` follows the central directory's hash order; sort to archive order.
    let order: HashMap<&str, usize> = (0..archive.len())
        .filter_map(|i| archive.name_for_index(i).map(|name| (name, i)))
        .collect();
    weeks.sort_by_key(|week| order.get(week.entry.as_str()).copied());
    Ok(weeks)
}

/// The weekly chart an entry holds: `None` for directories and other files (the README).
fn week_of(path: &Path, name: &str) -> Result<Option<WeeklyChart>, DatasetError> {
    if !name.ends_with(".csv") {
        return Ok(None);
    }
    WeeklyChart::parse(name)
        .map(Some)
        .ok_or_else(|| DatasetError::Mismatch {
            path: entry_path(path, name),
            message: "entry name does not follow \
                      charts/<market>/<year>/<market>-weekly_with_features-<from>--<to>.csv"
                .into(),
        })
}

fn entry_path(archive: &Path, entry: &str) -> PathBuf {
    PathBuf::from(format!("{}!{entry}", archive.display()))
}

/// Reads every weekly file that passes `filter`, in archive order.
pub fn load_weeks(
    dir: &DataDir,
    filter: &ChartFilter,
    strictness: Strictness,
) -> Result<Loaded<ChartWeek>, DatasetError> {
    let path = dir.join(FILE);
    let mut archive = archive(&path)?;
    let mut loaded = Loaded::default();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|error| zip_error(&path, error))?;
        let chart = match (week_of(&path, entry.name()), strictness) {
            (Ok(Some(chart)), _) => chart,
            (Ok(None), _) => continue,
            (Err(error), Strictness::Strict) => return Err(error),
            (Err(error), Strictness::Lenient) => {
                loaded.skipped.push(SkippedRow::from_error(
                    &entry_path(&path, entry.name()),
                    &error,
                ));
                continue;
            }
        };
        if !filter.accepts(&chart) {
            continue;
        }
        let source = entry_path(&path, &chart.entry);
        let spec = TableSpec {
            path: &source,
            delimiter: b'\t',
            required: &COLUMNS,
            strictness,
        };
        let rows = read_table(entry, &spec, |row| {
            // Ranges bound every value far inside u32 and u64.
            Ok(ChartEntry {
                id: row.spotify_id("song_id")?,
                name: row.free_text("song_name")?.to_string(),
                artist: row.free_text("artist")?.to_string(),
                position: row.integer("position", CHART_POSITION)? as u32,
                streams: row.integer("streams", STREAMS)? as u64,
                last_week_position: row
                    .optional_integer("last_week_position", CHART_POSITION, &["nan"])?
                    .map(|p| p as u32),
                weeks_on_chart: row.integer("weeks_on_chart", WEEKS_ON_CHART)? as u32,
                peak_position: row.integer("peak_position", CHART_POSITION)? as u32,
            })
        })?;
        loaded.skipped.extend(rows.skipped);
        loaded.rows.push(ChartWeek {
            chart,
            entries: rows.rows,
        });
    }
    Ok(loaded)
}

/// Reads the weekly files that pass `filter` and returns each charted track once, with its
/// statistics, in order of first appearance.
pub fn load(
    dir: &DataDir,
    filter: &ChartFilter,
    strictness: Strictness,
) -> Result<Loaded<ChartTrack>, DatasetError> {
    let weeks = load_weeks(dir, filter, strictness)?;
    Ok(Loaded {
        rows: track_statistics(&weeks.rows),
        skipped: weeks.skipped,
    })
}

/// Folds weekly files into one [`ChartTrack`] per id, in order of first appearance.
pub fn track_statistics(weeks: &[ChartWeek]) -> Vec<ChartTrack> {
    let mut tracks: Vec<ChartTrack> = Vec::new();
    // Per id: its index in `tracks` and the last week index counted, so that a track listed
    // twice in one file counts one week.
    let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
    for (week_index, week) in weeks.iter().enumerate() {
        for entry in &week.entries {
            let (index, last_week) = *seen.entry(&entry.id).or_insert_with(|| {
                tracks.push(ChartTrack {
                    id: entry.id.clone(),
                    name: String::new(),
                    artist: String::new(),
                    chart_weeks: 0,
                    max_weeks_on_chart: 0,
                    best_position: u32::MAX,
                    total_streams: 0,
                    markets: BTreeSet::new(),
                    first_week: week.chart.from.clone(),
                    last_week: week.chart.to.clone(),
                });
                (tracks.len() - 1, usize::MAX)
            });
            let Some(track) = tracks.get_mut(index) else {
                continue;
            };
            if last_week != week_index {
                track.chart_weeks += 1;
                seen.insert(&entry.id, (index, week_index));
            }
            if track.name.is_empty() {
                track.name.clone_from(&entry.name);
            }
            if track.artist.is_empty() {
                track.artist.clone_from(&entry.artist);
            }
            track.max_weeks_on_chart = track.max_weeks_on_chart.max(entry.weeks_on_chart);
            track.best_position = track.best_position.min(entry.position);
            track.total_streams = track.total_streams.saturating_add(entry.streams);
            if !track.markets.contains(&week.chart.market) {
                track.markets.insert(week.chart.market.clone());
            }
            if week.chart.from < track.first_week {
                track.first_week.clone_from(&week.chart.from);
            }
            if week.chart.to > track.last_week {
                track.last_week.clone_from(&week.chart.to);
            }
        }
    }
    tracks
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::load::fixture::data_dir;

    const HEADER: &str = "position\tsong_id\tsong_name\tartist\tstreams\tlast_week_position\t\
        weeks_on_chart\tpeak_position\tposition_status\r\n";

    fn zip_of(entries: &[(&str, String)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, text) in entries {
            writer.start_file(*name, options).expect("start entry");
            writer.write_all(text.as_bytes()).expect("write entry");
        }
        writer.finish().expect("finish zip").into_inner()
    }

    const A: &str = "5aAx2yezTd8zXrkmtKl66Z";
    const B: &str = "5knuzwU65gJK7IF5yJsuaW";

    fn fixture() -> Vec<u8> {
        zip_of(&[
            ("charts/README.txt", "read me".into()),
            (
                "charts/us/2017/us-weekly_with_features-2017-01-06--2017-01-13.csv",
                format!(
                    "{HEADER}1\t{A}\tStarboy\tThe Weeknd\t1000\tnan\t1\t1\tnew\r\n\
                     2\t{B}\t\t\t500\tnan\t1\t2\tnew\r\n"
                ),
            ),
            (
                "charts/us/2017/us-weekly_with_features-2017-01-13--2017-01-20.csv",
                format!("{HEADER}3\t{A}\tStarboy\tThe Weeknd\t800\t1\t2\t1\t-2\r\n"),
            ),
            (
                "charts/gb/2018/gb-weekly_with_features-2018-01-05--2018-01-12.csv",
                format!("{HEADER}7\t{B}\tRockabye\tClean Bandit\t300\tnan\t9\t2\tre-enter\r\n"),
            ),
        ])
    }

    #[test]
    fn weekly_rows_fold_into_track_statistics() {
        let (_temp, dir) = data_dir(&[(FILE, &fixture())]);
        assert_eq!(weekly_charts(&dir).expect("lists").len(), 3);
        let tracks = load(&dir, &ChartFilter::all(), Strictness::Strict).expect("loads");
        assert_eq!(tracks.len(), 2);
        let a = &tracks.rows[0];
        assert_eq!(
            (a.chart_weeks, a.best_position, a.total_streams),
            (2, 1, 1800)
        );
        assert_eq!(
            (a.first_week.as_str(), a.last_week.as_str()),
            ("2017-01-06", "2017-01-20")
        );
        let b = &tracks.rows[1];
        assert_eq!((b.name.as_str(), b.max_weeks_on_chart), ("Rockabye", 9));
        assert_eq!(
            b.markets.iter().map(String::as_str).collect::<Vec<_>>(),
            ["gb", "us"]
        );
    }

    #[test]
    fn filters_select_markets_and_years() {
        let (_temp, dir) = data_dir(&[(FILE, &fixture())]);
        let gb = load(
            &dir,
            &ChartFilter::all().markets(&["gb"]),
            Strictness::Strict,
        )
        .expect("loads");
        assert_eq!(gb.len(), 1);
        let y2017 = load_weeks(
            &dir,
            &ChartFilter::all().years(2017..=2017),
            Strictness::Strict,
        )
        .expect("loads");
        assert_eq!(y2017.len(), 2);
        assert!(y2017.rows.iter().all(|week| week.chart.year == 2017));
    }

    #[test]
    fn loader_names_the_entry_line_and_value_of_a_bad_position() {
        let entry = "charts/us/2017/us-weekly_with_features-2017-01-06--2017-01-13.csv";
        let bytes = zip_of(&[(
            entry,
            format!("{HEADER}1\t{A}\tx\ty\t1000\tnan\t1\t1\tnew\r\n201\t{B}\tx\ty\t5\tnan\t1\t1\tnew\r\n"),
        )]);
        let (_temp, dir) = data_dir(&[(FILE, &bytes)]);
        match load(&dir, &ChartFilter::all(), Strictness::Strict) {
            Err(DatasetError::OutOfRange {
                path,
                line,
                column,
                value,
                ..
            }) => {
                assert!(path
                    .to_string_lossy()
                    .ends_with(&format!("charts.zip!{entry}")));
                assert_eq!(
                    (line, column.as_str(), value.as_str()),
                    (3, "position", "201")
                );
            }
            other => panic!("expected OutOfRange, got {other:?}"),
        }
        let lenient = load(&dir, &ChartFilter::all(), Strictness::Lenient).expect("lenient");
        assert_eq!((lenient.len(), lenient.skipped.len()), (1, 1));
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_a_zip_error() {
        let (_temp, dir) = data_dir(&[(FILE, b"not a zip at all")]);
        assert!(matches!(
            load(&dir, &ChartFilter::all(), Strictness::Strict),
            Err(DatasetError::Zip { .. })
        ));
    }

    #[test]
    fn entry_names_outside_the_layout_are_rejected() {
        assert!(WeeklyChart::parse(
            "charts/us/2017/gb-weekly_with_features-2017-01-06--2017-01-13.csv"
        )
        .is_none());
        assert!(WeeklyChart::parse(
            "charts/us/17/us-weekly_with_features-2017-01-06--2017-01-13.csv"
        )
        .is_none());
        let week = WeeklyChart::parse(
            "charts/global/2019/global-weekly_with_features-2019-12-20--2019-12-27.csv",
        )
        .expect("parses");
        assert_eq!((week.market.as_str(), week.year), ("global", 2019));
    }
}
