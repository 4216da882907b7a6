//===- SchedulePicture.cpp - drawing schedule.svg -------------------------===//
//
// Draws the forward and backward schedules as two grids of ranks x steps,
// one below the other, under a title and a legend. The geometry is fixed per
// cell (its height fits the most chunk pairs any cell has), so that cp up to
// 8 stays readable at 100% zoom. A hop h is drawn in the gap after step h:
// K/V hop h carries the shard step h+1 reads, dK/dV hop h follows step h.
// A hop to a lower rank (the ring closing) leaves the grid at the bottom and
// enters it again from the top.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Gen/SchedulePicture.h"
#include "ringattn/Dialect/RingAttn/Analysis/ScheduleChecker.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ringattn;

namespace {

// Geometry, in pixels.
constexpr double kMargin = 20;
constexpr double kRankLabelWidth = 92;
constexpr double kCellWidth = 132;
constexpr double kColumnGap = 40;
constexpr double kRowGap = 12;
constexpr double kCellHeaderHeight = 20;
constexpr double kPairLineHeight = 16;
constexpr double kGlyphSize = 10;
/// Room above and below a grid for the hops that close the ring.
constexpr double kWrapRoom = 22;
/// Where a hop arrow meets a cell, as a fraction of the cell height.
constexpr double kKVArrowHeight = 0.4;
constexpr double kDkvArrowHeight = 0.75;

// Colours.
constexpr const char *kFullPairColour = "#2e6f40";
constexpr const char *kDiagonalPairColour = "#7a4fa3";
constexpr const char *kKVHopColour = "#1f77b4";
constexpr const char *kDkvHopColour = "#e07b00";
constexpr const char *kIdleCellColour = "#f2f2f2";

/// A work figure without trailing zeros: "2 units", "0.5 units", "1 unit".
std::string formatWork(double units) {
  std::string text = llvm::formatv("{0:F3}", units).str();
  text = llvm::StringRef(text).rtrim('0').rtrim('.').str();
  return text + (units == 1 ? " unit" : " units");
}

/// A byte count in binary units: "16 MiB", "1.5 KiB", "96 B".
std::string formatBytes(int64_t bytes) {
  static const char *const suffixes[] = {"B",   "KiB", "MiB", "GiB",
                                         "TiB", "PiB", "EiB"};
  double value = bytes;
  int suffix = 0;
  while (value >= 1024 && suffix < 6) {
    value /= 1024;
    ++suffix;
  }
  std::string text = llvm::formatv("{0:F2}", value).str();
  text = llvm::StringRef(text).rtrim('0').rtrim('.').str();
  return text + " " + suffixes[suffix];
}

/// "#rrggbb" between two colours.
std::string mixColour(unsigned from, unsigned to, double t) {
  auto channel = [&](int shift) {
    double a = (from >> shift) & 0xff, b = (to >> shift) & 0xff;
    return static_cast<unsigned>(a + (b - a) * t + 0.5);
  };
  return llvm::formatv("#{0:x-2}{1:x-2}{2:x-2}", channel(16), channel(8),
                       channel(0))
      .str();
}

/// Writes SVG elements; text is escaped, numbers keep one decimal.
class SvgWriter {
public:
  SvgWriter() : os(body) {}

  void rect(double x, double y, double width, double height,
            llvm::StringRef attributes) {
    os << llvm::formatv("<rect x=\"{0:F1}\" y=\"{1:F1}\" width=\"{2:F1}\" "
                        "height=\"{3:F1}\" {4}/>\n",
                        x, y, width, height, attributes);
  }
  void line(double x1, double y1, double x2, double y2,
            llvm::StringRef attributes) {
    os << llvm::formatv("<line x1=\"{0:F1}\" y1=\"{1:F1}\" x2=\"{2:F1}\" "
                        "y2=\"{3:F1}\" {4}/>\n",
                        x1, y1, x2, y2, attributes);
  }
  void polygon(llvm::ArrayRef<std::pair<double, double>> points,
               llvm::StringRef attributes) {
    os << "<polygon points=\"";
    for (auto [x, y] : points)
      os << llvm::formatv("{0:F1},{1:F1} ", x, y);
    os << "\" " << attributes << "/>\n";
  }
  /// `text` is plain text; it is escaped here.
  void text(double x, double y, llvm::StringRef text,
            llvm::StringRef attributes = "") {
    os << llvm::formatv("<text x=\"{0:F1}\" y=\"{1:F1}\" {2}>", x, y,
                        attributes)
       << escape(text) << "</text>\n";
  }
  /// A tooltip for the enclosing element.
  void title(llvm::StringRef text) {
    os << "<title>" << escape(text) << "</title>\n";
  }
  void openGroup(llvm::StringRef attributes) {
    os << "<g " << attributes << ">\n";
  }
  void closeGroup() { os << "</g>\n"; }
  void raw(llvm::StringRef markup) { os << markup; }

  /// The document: the elements written so far in an <svg> root.
  std::string document(double width, double height) const {
    return llvm::formatv(
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:F0}\" "
               "height=\"{1:F0}\" viewBox=\"0 0 {0:F0} {1:F0}\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n",
               width, height)
               .str() +
           body + "</svg>\n";
  }

  static std::string escape(llvm::StringRef text) {
    std::string out;
    llvm::raw_string_ostream escaped(out);
    llvm::printHTMLEscaped(text, escaped);
    return out;
  }

private:
  std::string body;
  llvm::raw_string_ostream os;
};

/// Where the cells of one grid lie.
struct Grid {
  int64_t cp;
  double cellHeight;
  /// The top of rank 0's row.
  double top;

  double columnLeft(int64_t step) const {
    return kMargin + kRankLabelWidth + step * (kCellWidth + kColumnGap);
  }
  double rowTop(int64_t rank) const {
    return top + rank * (cellHeight + kRowGap);
  }
  double bottom() const { return rowTop(cp) - kRowGap; }
  double width() const { return columnLeft(cp) + kMargin; }
};

/// The most chunk pairs any compute of the schedules holds (at least 1).
size_t mostPairsPerCell(llvm::ArrayRef<const ScheduleModel *> models) {
  size_t most = 1;
  for (const ScheduleModel *model : models)
    for (const RankProgram &program : model->ranks)
      for (const Instr &instr : program.instrs)
        if (instr.kind == InstrKind::Compute)
          most = std::max(most, instr.pairs.size());
  return most;
}

std::string directionName(Direction direction) {
  return direction == Direction::forward ? "forward" : "backward";
}

/// Marker definitions of the arrow heads.
void drawDefinitions(SvgWriter &svg) {
  svg.raw("<defs>\n");
  for (auto [id, colour] : {std::pair{"kv-head", kKVHopColour},
                            std::pair{"dkv-head", kDkvHopColour}})
    svg.raw(llvm::formatv("<marker id=\"{0}\" viewBox=\"0 0 10 10\" refX=\"9\" "
                          "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
                          "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 "
                          "L0,10 z\" fill=\"{1}\"/></marker>\n",
                          id, colour)
                .str());
  svg.raw("</defs>\n");
}

void drawFullPairGlyph(SvgWriter &svg, double x, double y) {
  svg.rect(x, y, kGlyphSize, kGlyphSize,
           llvm::formatv("fill=\"{0}\"", kFullPairColour).str());
}

/// The lower triangle of a square: the part of a diagonal pair the causal
/// mask keeps (queries down, keys across).
void drawDiagonalPairGlyph(SvgWriter &svg, double x, double y) {
  svg.polygon({{x, y}, {x, y + kGlyphSize}, {x + kGlyphSize, y + kGlyphSize}},
              llvm::formatv("fill=\"{0}\"", kDiagonalPairColour).str());
}

void drawLegend(SvgWriter &svg, double top, const AttentionConfig &config) {
  double x = kMargin;
  double y = top + 12;
  drawFullPairGlyph(svg, x, y - 9);
  svg.text(x + 16, y, "full chunk pair (1 unit)");
  x += 170;
  drawDiagonalPairGlyph(svg, x, y - 9);
  svg.text(x + 16, y, "diagonal chunk pair (1/2 unit)");
  x += 200;
  svg.line(x, y - 4, x + 28, y - 4,
           llvm::formatv("stroke=\"{0}\" stroke-width=\"2\" "
                         "marker-end=\"url(#kv-head)\"",
                         kKVHopColour)
               .str());
  svg.text(x + 34, y, "K/V hop (" + formatBytes(kvShardBytes(config)) + ")");
  x += 160;
  svg.line(x, y - 4, x + 28, y - 4,
           llvm::formatv("stroke=\"{0}\" stroke-width=\"2\" "
                         "stroke-dasharray=\"5,3\" "
                         "marker-end=\"url(#dkv-head)\"",
                         kDkvHopColour)
               .str());
  svg.text(x + 34, y,
           "dK/dV hop (fp32, " + formatBytes(dkvShardBytes(config)) + ")");
  svg.text(kMargin, y + 20,
           "Cells: the chunk pairs a rank computes at a step, the K/V buffer "
           "it reads (\u2190 whose shard) and its work.",
           "fill=\"#555\" font-size=\"11\"");
  svg.text(kMargin, y + 35,
           "A hop to a lower rank leaves the grid at the bottom and comes back "
           "in at the top. Sizes are per sequence; hover for details.",
           "fill=\"#555\" font-size=\"11\"");
}

/// One cell: the compute of `rank` at `step`, or an idle cell.
void drawCell(SvgWriter &svg, const Grid &grid, const ScheduleModel &model,
              int64_t rank, int64_t step, const Instr *compute, double work,
              double mostWork) {
  double x = grid.columnLeft(step), y = grid.rowTop(rank);
  svg.openGroup(llvm::formatv("class=\"cell\" data-direction=\"{0}\" "
                              "data-rank=\"{1}\" data-step=\"{2}\"",
                              directionName(model.direction), rank, step)
                    .str());
  std::string fill = compute ? mixColour(0xeef8ec, 0xb9e3b0,
                                         mostWork > 0 ? work / mostWork : 0)
                             : kIdleCellColour;
  svg.rect(x, y, kCellWidth, grid.cellHeight,
           "rx=\"4\" fill=\"" + fill + "\" stroke=\"#999\"");
  if (!compute) {
    svg.title("rank " + std::to_string(rank) + ", step " +
              std::to_string(step) + ": idle");
    svg.text(x + kCellWidth / 2, y + grid.cellHeight / 2 + 4, "idle",
             "text-anchor=\"middle\" fill=\"#888\"");
    svg.closeGroup();
    return;
  }
  svg.title("rank " + std::to_string(rank) + ": " + compute->str() + "; " +
            std::to_string(compute->pairs.size()) + " chunk pairs, " +
            formatWork(work));
  std::string header = compute->buffer.str();
  if (!compute->pairs.empty())
    header +=
        " \u2190 r" +
        std::to_string(rankOfChunk(model.config, compute->pairs.front().kv));
  svg.text(x + 6, y + 14, header, "font-size=\"10\" fill=\"#333\"");
  double pairTop = y + kCellHeaderHeight;
  svg.text(x + kCellWidth - 6, pairTop + 10, formatWork(work),
           "text-anchor=\"end\" font-weight=\"bold\" font-size=\"11\"");
  for (const ChunkPair &pair : compute->pairs) {
    if (pair.mask == MaskKind::diagonal)
      drawDiagonalPairGlyph(svg, x + 6, pairTop);
    else
      drawFullPairGlyph(svg, x + 6, pairTop);
    svg.text(x + 21, pairTop + 9,
             "q" + std::to_string(pair.q) + "\u00b7kv" +
                 std::to_string(pair.kv),
             "font-family=\"monospace\" font-size=\"11\"");
    pairTop += kPairLineHeight;
  }
  svg.closeGroup();
}

/// One send of a rank program, as an arrow in the gap after step `hop`.
void drawHop(SvgWriter &svg, const Grid &grid, const ScheduleModel &model,
             int64_t rank, const Instr &send) {
  bool kv = send.buffer.holdsKV();
  double fraction = kv ? kKVArrowHeight : kDkvArrowHeight;
  double xFrom = grid.columnLeft(send.hop) + kCellWidth + 3;
  double xTo = grid.columnLeft(send.hop + 1) - 3;
  double yFrom = grid.rowTop(rank) + grid.cellHeight * fraction;
  double yTo = grid.rowTop(send.peer) + grid.cellHeight * fraction;
  std::string stroke =
      llvm::formatv("stroke=\"{0}\" stroke-width=\"1.8\" fill=\"none\"{1}",
                    kv ? kKVHopColour : kDkvHopColour,
                    kv ? "" : " stroke-dasharray=\"5,3\"")
          .str();
  std::string head =
      kv ? "marker-end=\"url(#kv-head)\"" : "marker-end=\"url(#dkv-head)\"";
  svg.openGroup(llvm::formatv("class=\"hop\" data-direction=\"{0}\" "
                              "data-payload=\"{1}\" data-hop=\"{2}\" "
                              "data-from=\"{3}\" data-to=\"{4}\"",
                              directionName(model.direction), kv ? "kv" : "dkv",
                              send.hop, rank, send.peer)
                    .str());
  svg.title("rank " + std::to_string(rank) + ": " + send.str() + ", " +
            formatBytes(kv ? kvShardBytes(model.config)
                           : dkvShardBytes(model.config)));
  if (send.peer > rank) {
    svg.line(xFrom, yFrom, xTo, yTo, stroke + " " + head);
  } else {
    // The ring closes: out at the bottom, in again at the top.
    double xMid = (xFrom + xTo) / 2 + (kv ? -5 : 5);
    svg.line(xFrom, yFrom, xMid, grid.bottom() + kWrapRoom - 4, stroke);
    svg.line(xMid, grid.top - kWrapRoom + 4, xTo, yTo, stroke + " " + head);
  }
  svg.closeGroup();
}

/// One direction's grid with its heading; returns the y below it.
double drawSchedule(SvgWriter &svg, const ScheduleModel &model, double top,
                    double cellHeight) {
  const AttentionConfig &config = model.config;
  WorkReport report = reportWork(model);
  std::string heading =
      (model.direction == Direction::forward ? "Forward" : "Backward") +
      std::string(" (@") + model.name +
      "): " + (report.balanced ? "balanced" : "unbalanced") + "; ring time " +
      formatWork(report.ringUnits) + " (" + formatWork(report.balancedUnits) +
      " if spread evenly)";
  svg.text(kMargin, top + 16, heading, "font-size=\"14\" font-weight=\"bold\"");

  Grid grid{config.cp, cellHeight, top + 40 + kWrapRoom};
  for (int64_t step = 0; step < config.cp; ++step)
    svg.text(grid.columnLeft(step) + kCellWidth / 2, top + 38,
             "step " + std::to_string(step),
             "text-anchor=\"middle\" font-weight=\"bold\"");
  bool dkvComesHome = model.direction == Direction::backward && config.cp > 1;
  if (dkvComesHome)
    svg.text(grid.columnLeft(config.cp) - kColumnGap / 2, top + 38, "home",
             "text-anchor=\"middle\" font-size=\"10\" fill=\"#555\"");

  double mostWork = 0;
  for (const std::vector<double> &row : report.work)
    for (double work : row)
      mostWork = std::max(mostWork, work);
  for (const RankProgram &program : model.ranks) {
    int64_t rank = program.rank;
    double rowTop = grid.rowTop(rank);
    svg.text(kMargin, rowTop + 16, "rank " + std::to_string(rank),
             "font-weight=\"bold\"");
    std::string chunks = "chunk";
    llvm::SmallVector<int64_t, 2> held = chunksOfRank(config, rank);
    chunks += held.size() > 1 ? "s " : " ";
    chunks += llvm::join(
        llvm::map_range(held, [](int64_t c) { return std::to_string(c); }),
        ", ");
    svg.text(kMargin, rowTop + 31, chunks, "font-size=\"10\" fill=\"#555\"");

    std::vector<const Instr *> computeOfStep(config.cp, nullptr);
    for (const Instr &instr : program.instrs)
      if (instr.kind == InstrKind::Compute)
        computeOfStep[instr.step] = &instr;
    for (int64_t step = 0; step < config.cp; ++step)
      drawCell(svg, grid, model, rank, step, computeOfStep[step],
               report.work[rank][step], mostWork);
  }
  for (const RankProgram &program : model.ranks)
    for (const Instr &instr : program.instrs)
      if (instr.kind == InstrKind::Send)
        drawHop(svg, grid, model, program.rank, instr);
  return grid.bottom() + kWrapRoom;
}

} // namespace

std::string
mlir::ringattn::renderSchedulePicture(const ScheduleModel &forward,
                                      const ScheduleModel &backward) {
  const AttentionConfig &config = forward.config;
  double cellHeight =
      kCellHeaderHeight +
      mostPairsPerCell({&forward, &backward}) * kPairLineHeight + 4;
  SvgWriter svg;
  drawDefinitions(svg);
  svg.text(kMargin, 28, "ringattn schedule \u2014 " + config.str(),
           "font-size=\"18\" font-weight=\"bold\"");
  svg.text(kMargin, 48,
           llvm::formatv("{0} chunks of {1} tokens; {2} tokens per rank",
                         numChunks(config), chunkLength(config),
                         localLength(config))
               .str(),
           "fill=\"#555\"");
  drawLegend(svg, 58, config);
  double y = 58 + 58;
  y = drawSchedule(svg, forward, y, cellHeight);
  y = drawSchedule(svg, backward, y + 16, cellHeight);
  Grid grid{config.cp, cellHeight, 0};
  double width = std::max(grid.width(), 820.0);
  return svg.document(width, y + kMargin);
}
