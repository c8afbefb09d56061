import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built to static files (web/dist) that the console service serves on its origin
// (services/console); `npm run dev` is not needed: `make run` serves the built files.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 2000 },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
