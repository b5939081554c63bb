package demo

import "image"

// The scenes below are procedural pictures. Coordinates are pixels; all
// arithmetic is integer (see fixed.go). Each function is pure in (x, y).

// aurora paints northern lights over a mountain lake at night.
func aurora(w, h int) *image.RGBA {
	W, H := int64(w), int64(h)
	lake := H * 80 / 100 // y of the shore line
	sky := newGradient(
		stop{0, rgb{2, 4, 14}},
		stop{one * 60 / 100, rgb{6, 16, 36}},
		stop{one, rgb{16, 40, 60}},
	)
	light := newGradient(
		stop{0, rgb{110, 255, 170}},
		stop{one * 6 / 100, rgb{60, 250, 140}},
		stop{one * 50 / 100, rgb{40, 200, 150}},
		stop{one * 80 / 100, rgb{110, 90, 200}},
		stop{one, rgb{190, 60, 200}},
	)
	type curtain struct {
		base, amp1, amp2 int64 // pixels
		f1, f2, p1, p2   int64 // turns per width (Q8), phases (Q20)
		height           int64 // pixels above the bright lower edge
		strength         int64 // Q16
		yc, ray          []int64
	}
	curtains := []curtain{
		{base: H * 44 / 100, amp1: H * 7 / 100, amp2: H * 3 / 100, f1: 260, f2: 1300, p1: 90000, p2: 500000, height: H * 40 / 100, strength: one * 110 / 100},
		{base: H * 58 / 100, amp1: H * 5 / 100, amp2: H * 3 / 100, f1: 520, f2: 1900, p1: 700000, p2: 150000, height: H * 22 / 100, strength: one * 60 / 100},
		{base: H * 28 / 100, amp1: H * 6 / 100, amp2: H * 3 / 100, f1: 200, f2: 1100, p1: 300000, p2: 800000, height: H * 20 / 100, strength: one * 40 / 100},
	}
	thick := max(H/90, 2) // glow below the lower edge

	// Per-column data: mountain ridge, curtain edges and ray brightness.
	ridge := make([]int64, w)
	for x := range ridge {
		n := fbm(int64(x)*one*5/W, 7<<16, 3, 5)
		ridge[x] = lake - H*1/100 - n*H*11/100>>16
	}
	for k := range curtains {
		c := &curtains[k]
		c.yc, c.ray = make([]int64, w), make([]int64, w)
		for x := range w {
			u := int64(x) * turnQ20 / W
			c.yc[x] = c.base + c.amp1*sinP(u*c.f1>>8+c.p1)>>16 + c.amp2*sinP(u*c.f2>>8+c.p2)>>16
			r := fbm(int64(x)*one/7, int64(k)<<16, uint32(20+k), 3)
			// Brightness also varies slowly along the curtain.
			m := fbm(int64(x)*one*4/W, int64(k)<<16, uint32(25+k), 2)
			m = clampQ16(m*3/2 - one/4)
			c.ray[x] = (r * r >> 16) * (one/4 + m*3/4) >> 16
		}
	}

	// scene returns the colour above the shore line.
	scene := func(x, y int64) rgb {
		x = min(max(x, 0), W-1)
		c := sky.at(y * one / lake)
		if r := ridge[x]; y >= r {
			// Mountain: near black, with a faint cold rim light.
			rim := max(0, 30-(y-r)*30*12/H)
			return rgb{3 + rim/3, 6 + rim/2, 12 + rim}
		}
		// Stars, fading towards the horizon.
		if s := hash2(x, y, 1); s%1000 < 4 {
			b := int64(50 + s>>24%206)
			c = c.plus(b * (lake - y) / lake)
		}
		for k := range curtains {
			cu := &curtains[k]
			d := y - cu.yc[x]
			var fall, t int64
			slow := vnoise(x*one/90, d*one/(H/5), uint32(30+k))
			ray := one*20/100 + cu.ray[x]*(one/3+slow*2/3)>>16
			if d >= 0 {
				// Soft glow below the lower edge.
				fall = one * thick * thick / (thick*thick + d*d)
				fall = fall * ray >> 16
			} else {
				t = clampQ16(-d * one / cu.height)
				body := (one - t) * (one - t/2) >> 16
				edge := clampQ16(one + d*one/(H/12))
				edge = edge * edge >> 16
				fall = (body*55/100 + edge*50/100) * ray >> 16
			}
			if fall < 64 {
				continue
			}
			c = c.add(light.at(t).scale(fall * cu.strength >> 16))
		}
		return c
	}
	return render(w, h, func(xi, yi int) rgb {
		x, y := int64(xi), int64(yi)
		var c rgb
		if y < lake {
			c = scene(x, y)
		} else {
			// Reflection in the lake, rippled and darkened.
			depth := (y - lake) * one / (H - lake)
			dx := sinP(y*turnQ20/7+int64(hash2(0, y, 5)>>12)) * (2 + depth*8>>16) >> 16
			c = scene(x+dx, max(2*lake-y, 0)).scale(one*65/100 - depth*25/100)
			c = c.add(rgb{2, 4, 8})
		}
		return c.plus(grain(xi, yi, 99, 10))
	})
}

// dunes paints desert dunes under a setting sun.
func dunes(w, h int) *image.RGBA {
	W, H := int64(w), int64(h)
	horizon := H * 58 / 100
	sky := newGradient(
		stop{0, rgb{48, 24, 82}},
		stop{one * 35 / 100, rgb{150, 58, 108}},
		stop{one * 70 / 100, rgb{245, 132, 72}},
		stop{one, rgb{255, 206, 128}},
	)
	sunX, sunY, sunR := W*68/100, H*50/100, H*6/100
	type layer struct {
		base, a1, a2 int64
		f1, f2, p1   int64
		lit, shade   rgb
		haze         int64 // Q16 mix towards the horizon colour
		ripple       int64 // sand ripple wavelength, pixels
		ridge, slope []int64
	}
	layers := []layer{ // nearest first
		{base: H * 80 / 100, a1: H * 8 / 100, a2: H * 3 / 100, f1: 180, f2: 610, p1: 300000, lit: rgb{240, 152, 82}, shade: rgb{112, 48, 46}, ripple: 9},
		{base: H * 69 / 100, a1: H * 5 / 100, a2: H * 2 / 100, f1: 260, f2: 830, p1: 620000, lit: rgb{230, 130, 74}, shade: rgb{122, 52, 60}, haze: one * 22 / 100, ripple: 6},
		{base: H * 62 / 100, a1: H * 4 / 100, a2: H * 2 / 100, f1: 350, f2: 1130, p1: 100000, lit: rgb{216, 116, 80}, shade: rgb{136, 62, 82}, haze: one * 45 / 100, ripple: 4},
		{base: H * 57 / 100, a1: H * 3 / 100, a2: H * 1 / 100, f1: 520, f2: 1700, p1: 800000, lit: rgb{206, 112, 96}, shade: rgb{160, 80, 104}, haze: one * 65 / 100, ripple: 3},
	}
	for i := range layers {
		l := &layers[i]
		ridgeQ8 := func(x int64) int64 {
			u := x * turnQ20 / W
			return l.base<<8 + l.a1*sinP(u*l.f1>>8+l.p1)>>8 + l.a2*sinP(u*l.f2>>8+l.p1*3)>>8
		}
		l.ridge, l.slope = make([]int64, w), make([]int64, w)
		for x := range w {
			l.ridge[x] = ridgeQ8(int64(x))
			// >0: the ground falls to the right, away from the sun.
			l.slope[x] = ridgeQ8(int64(x)+3) - ridgeQ8(int64(x)-3)
		}
	}
	hz := sky.at(one)
	skyAt := func(x, y int64) rgb {
		c := sky.at(y * one / horizon)
		dx, dy := x-sunX, y-sunY
		d2 := dx*dx + dy*dy
		if d2 < sunR*sunR {
			return rgb{255, 244, 214}
		}
		k := sunR * sunR * 3
		return c.add(rgb{255, 170, 90}.scale(one * k / (k + d2 - sunR*sunR) * 60 / 100))
	}
	var colour func(i int, x, y int64) rgb
	colour = func(i int, x, y int64) rgb {
		if i == len(layers) {
			return skyAt(x, y)
		}
		l := &layers[i]
		r := l.ridge[x]
		cover := clampQ16((y<<8 + 128 - r) << 8) // antialiased crest
		if cover == 0 {
			return colour(i+1, x, y)
		}
		lit := clampQ16(one/2 - l.slope[x]*one/(H*256/28))
		c := lerp(l.shade, l.lit, lit)
		below := y - r>>8
		c = c.scale(one - clampQ16(below*one/(H/2))*30/100)
		// Wind ripples in the sand, roughly parallel to the crest.
		phase := (y<<8-r*6/10)*turnQ20/(l.ripple<<8) + fbm(x*one/40, y*one/20, uint32(60+i), 2)*turnQ20/2>>16
		c = c.plus(sinP(phase) * (2 + lit*5>>16) >> 16)
		c = lerp(c, hz, l.haze)
		if cover < one {
			c = lerp(colour(i+1, x, y), c, cover)
		}
		return c
	}
	return render(w, h, func(xi, yi int) rgb {
		return colour(0, int64(xi), int64(yi)).plus(grain(xi, yi, 7, 6))
	})
}

// ripples paints interference between circular waves on water.
func ripples(w, h int) *image.RGBA {
	W, H := int64(w), int64(h)
	pal := newGradient(
		stop{0, rgb{4, 30, 60}},
		stop{one * 40 / 100, rgb{10, 90, 130}},
		stop{one * 75 / 100, rgb{60, 190, 200}},
		stop{one, rgb{220, 250, 245}},
	)
	srcs := [][2]int64{{W * 30 / 100, H * 40 / 100}, {W * 72 / 100, H * 62 / 100}, {W * 55 / 100, H * 12 / 100}}
	return render(w, h, func(xi, yi int) rgb {
		x, y := int64(xi), int64(yi)
		var v int64
		for i, s := range srcs {
			dx, dy := (x-s[0])<<4, (y-s[1])<<4
			d := isqrt(dx*dx + dy*dy) // pixels, Q4
			wave := sinP(d * turnQ20 / (int64(18+5*i) << 4))
			v += wave * one / (one + d*one/(W<<3)) // decay with distance
		}
		t := one/2 + v/6
		return pal.at(t)
	})
}

// mandelbrot renders the Mandelbrot set with smooth (continuous) colouring.
func mandelbrot(w, h int) *image.RGBA {
	const q = 24 // fixed point fraction bits
	const maxIter = 300
	const bailout = 128 << q // |z|² escape radius (fits int64 after one step)
	W, H := int64(w), int64(h)
	cx, cy := int64(-62<<q/100), int64(0)
	span := int64(31 << q / 10) // width of the view
	pal := newGradient(
		stop{0, rgb{0, 7, 100}},
		stop{one * 16 / 100, rgb{32, 107, 203}},
		stop{one * 42 / 100, rgb{237, 255, 255}},
		stop{one * 64 / 100, rgb{255, 170, 0}},
		stop{one * 86 / 100, rgb{0, 2, 0}},
		stop{one, rgb{0, 7, 100}},
	)
	return render(w, h, func(xi, yi int) rgb {
		c0 := cx + (int64(xi)*2-W)*span/(2*W)
		c1 := cy + (int64(yi)*2-H)*span/(2*W)
		// Skip the main cardioid and the period-2 bulb.
		{
			xr := c0 - 1<<q/4
			qq := xr*xr>>q + c1*c1>>q
			if qq*(qq+xr)>>q <= c1*c1>>q/4 {
				return rgb{}
			}
			xb := c0 + 1<<q
			if xb*xb>>q+c1*c1>>q <= 1<<q/16 {
				return rgb{}
			}
		}
		var zr, zi int64
		for n := 0; n < maxIter; n++ {
			zr2, zi2 := zr*zr>>q, zi*zi>>q
			if zr2+zi2 > bailout {
				// ν = n + 1 - log2(log2|z|) = n + 2 - log2(log2|z|²)
				l := log2Q16(uint64(zr2+zi2)) - q<<16 // log2|z|², Q16
				nu := int64(n+2)<<16 - (log2Q16(uint64(l)) - 16<<16)
				return pal.cyclic(nu / 24)
			}
			zr, zi = zr2-zi2+c0, 2*zr*zi>>q+c1
		}
		return rgb{}
	})
}

// plasma paints a classic demoscene plasma, lightly dithered.
func plasma(w, h int) *image.RGBA {
	pal := newGradient(
		stop{0, rgb{255, 64, 129}},
		stop{one * 25 / 100, rgb{124, 77, 255}},
		stop{one * 50 / 100, rgb{0, 188, 212}},
		stop{one * 75 / 100, rgb{255, 214, 0}},
		stop{one, rgb{255, 64, 129}},
	)
	W := int64(w)
	return render(w, h, func(xi, yi int) rgb {
		x, y := int64(xi)*1024/W, int64(yi)*1024/W // resolution independent
		v := sinP(x * turnQ20 / 170)
		v += sinP(y*turnQ20/130 + 200000)
		v += sinP((x + y) * turnQ20 / 260)
		dx, dy := x-700, y-300
		v += sinP(isqrt(dx*dx+dy*dy) * turnQ20 / 120)
		dx, dy = x-250, y-600
		v += sinP(isqrt(dx*dx+dy*dy) * turnQ20 / 200)
		c := pal.cyclic(v / 5)
		return c.plus(grain(xi, yi, 21, 6))
	})
}

// nebula paints a photo-like emission nebula in a star field, with film
// grain strong enough that PNG cannot compress it away.
func nebula(w, h int) *image.RGBA {
	W, H := int64(w), int64(h)
	// The gas is smooth: sample it on a coarse grid and interpolate.
	const step = 4
	gw, gh := w/step+2, h/step+2
	type sample struct{ gas, blue, lane int64 }
	grid := make([]sample, gw*gh)
	parallel(gh, func(j int) {
		for i := range gw {
			x, y := int64(i*step), int64(j*step)
			px, py := x*one*4/W, y*one*4/W
			// Domain warp for wispy shapes.
			wx := fbm(px, py, 40, 3)
			wy := fbm(px+5<<16, py+9<<16, 41, 3)
			qx, qy := px+wx*3/2, py+wy*3/2
			gas := clampQ16((fbm(qx, qy, 42, 5) - one*38/100) * 5 / 2)
			lane := clampQ16((fbm(qx*2, qy*2, 43, 3) - one*50/100) * 4)
			blue := clampQ16((wy - one*45/100) * 3)
			grid[j*gw+i] = sample{gas * gas >> 16, blue, lane}
		}
	})
	// Bright stars with a soft glow: at most one per cell of a coarse grid,
	// and each pixel looks at its own cell and the eight around it.
	const cell = 48
	type star struct{ x, y, b, k, r2, blue int64 }
	cw, ch := w/cell+1, h/cell+1
	stars := make([]star, cw*ch) // b == 0: no star
	for j := range ch {
		for i := range cw {
			s := hash2(int64(i), int64(j), 45)
			if s%3 != 0 {
				continue
			}
			b := int64(s>>24%200) + 55
			k := b * b / 900
			stars[j*cw+i] = star{
				x: int64(i*cell) + int64(s>>8%cell), y: int64(j*cell) + int64(s>>16%cell),
				b: b, k: k, r2: (b - 1) * k / 4, // beyond r2 the glow rounds to 0
				blue: int64(s & 1),
			}
		}
	}
	return render(w, h, func(xi, yi int) rgb {
		x, y := int64(xi), int64(yi)
		i, j := xi/step, yi/step
		fx, fy := (x%step)*one/step, (y%step)*one/step
		s00, s10 := grid[j*gw+i], grid[j*gw+i+1]
		s01, s11 := grid[(j+1)*gw+i], grid[(j+1)*gw+i+1]
		bil := func(a, b, c, d int64) int64 {
			top := a + (b-a)*fx>>16
			bot := c + (d-c)*fx>>16
			return top + (bot-top)*fy>>16
		}
		gas := bil(s00.gas, s10.gas, s01.gas, s11.gas)
		blue := bil(s00.blue, s10.blue, s01.blue, s11.blue)
		lane := bil(s00.lane, s10.lane, s01.lane, s11.lane)
		// Radial falloff from a bright core.
		dx, dy := x-W*58/100, y-H*45/100
		core := one * W * W / 5 / (W*W/5 + (dx*dx+dy*dy)*3)
		gas = gas * (one/3 + core) >> 16
		c := rgb{3, 4, 12}
		c = c.add(rgb{255, 70, 120}.scale(gas))
		c = c.add(rgb{50, 110, 255}.scale(blue * (one/4 + core/2) >> 16 * 6 / 10))
		c = c.add(rgb{255, 220, 180}.scale(core * core >> 16 * gas >> 16))
		c = c.scale(one - lane*85/100) // dark dust lanes
		n := hash2(x, y, 44)
		// Faint stars.
		if n%400 == 0 {
			c = c.plus(int64(40 + n>>24%200))
		}
		gx, gy := xi/cell, yi/cell
		for j := max(gy-1, 0); j <= min(gy+1, ch-1); j++ {
			for i := max(gx-1, 0); i <= min(gx+1, cw-1); i++ {
				s := &stars[j*cw+i]
				if s.b == 0 {
					continue
				}
				d2 := (x-s.x)*(x-s.x) + (y-s.y)*(y-s.y)
				if d2 > s.r2 {
					continue
				}
				g := s.b * s.k / (s.k + d2*4)
				c = c.add(rgb{g, g * 9 / 10, g*3/4 + g*s.blue/4})
			}
		}
		// Film grain: luminance plus a little colour noise.
		n = mix32(n)
		l := (int64(n&0xff) + int64(n>>8&0xff) - 255) * 28 / 255
		return rgb{c.r + l + (int64(n>>16&0xff)-128)*5/128, c.g + l, c.b + l + (int64(n>>24)-128)*5/128}
	})
}

// stainedGlass paints a Voronoi stained-glass window.
func stainedGlass(w, h int) *image.RGBA {
	W, H := int64(w), int64(h)
	const n = 56
	type seedPt struct {
		x, y int64
		c    rgb
	}
	jewels := []rgb{
		{176, 20, 48}, {22, 88, 176}, {240, 170, 30}, {30, 140, 80}, {120, 40, 150},
		{230, 90, 30}, {20, 150, 170}, {200, 200, 220}, {150, 20, 90}, {60, 60, 190},
	}
	pts := make([]seedPt, n)
	for i := range pts {
		s := hash2(int64(i), 0, 77)
		pts[i] = seedPt{int64(s % uint32(W)), int64(s >> 12 % uint32(H)), jewels[mix32(s)%uint32(len(jewels))]}
	}
	return render(w, h, func(xi, yi int) rgb {
		x, y := int64(xi), int64(yi)
		b1, b2 := int64(1)<<62, int64(1)<<62
		i1, i2 := 0, 0
		for i := range pts {
			dx, dy := x-pts[i].x, y-pts[i].y
			d := dx*dx + dy*dy
			if d < b1 {
				b2, i2 = b1, i1
				b1, i1 = d, i
			} else if d < b2 {
				b2, i2 = d, i
			}
		}
		// Distance to the bisector between the two nearest seeds, Q4 pixels.
		ex, ey := pts[i1].x-pts[i2].x, pts[i1].y-pts[i2].y
		edge := (b2 - b1) << 4 / max(1, 2*isqrt(ex*ex+ey*ey))
		lead := rgb{28, 26, 30}
		if edge < 3<<4 {
			return lead.plus(int64(edge) / 4)
		}
		// Glass brightens towards the cell centre and towards the top
		// (light comes from above).
		glow := one - min(isqrt(b1)*one/(W/7), one)*45/100
		c := pts[i1].c.scale(glow*(one-y*one/H*25/100)>>16 + one/8)
		if edge < 5<<4 { // soft edge next to the lead
			c = lerp(lead, c, (edge-3<<4)*one/(2<<4))
		}
		return c
	})
}
