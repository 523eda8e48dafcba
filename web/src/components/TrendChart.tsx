import Box from "@mui/material/Box";
import Typography from "@mui/material/Typography";

export interface Point {
  time: number;
  value: number;
}

/** One vital sign over time as a small line chart, with the values also given as text. */
export function TrendChart({ title, unit, points }: { title: string; unit: string; points: Point[] }) {
  const width = 280;
  const height = 100;
  const pad = 8;
  const sorted = [...points].sort((a, b) => a.time - b.time);
  const values = sorted.map((p) => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const t0 = sorted[0]?.time ?? 0;
  const t1 = sorted.at(-1)?.time ?? 1;
  const x = (time: number) => pad + ((time - t0) / (t1 - t0 || 1)) * (width - 2 * pad);
  const y = (value: number) => height - pad - ((value - min) / (max - min || 1)) * (height - 2 * pad);
  const path = sorted.map((p, i) => `${i ? "L" : "M"}${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const summary = `${title}: ${values.join(", ")} ${unit}`;
  return (
    <Box component="figure" sx={{ m: 0 }}>
      <svg width={width} height={height} role="img" aria-label={summary}>
        <rect width={width} height={height} fill="#fff" stroke="#9e9e9e" />
        <path d={path} fill="none" stroke="#0b5cad" strokeWidth={2} />
        {sorted.map((p) => (
          <circle key={p.time} cx={x(p.time)} cy={y(p.value)} r={3} fill="#0b5cad" />
        ))}
      </svg>
      <Typography component="figcaption" variant="body2">
        {title} ({unit}): {values.join(" → ")}
      </Typography>
    </Box>
  );
}
